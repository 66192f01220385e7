# The ledger's image: the API server, the migrations and every `ledger` command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ledger ledger
COPY verification verification
COPY projections projections
COPY api api
COPY migrations migrations
# Editable, so the SQL migrations beside the packages are found where the code expects them.
RUN pip install --no-cache-dir -e . && useradd --create-home ledger
USER ledger
EXPOSE 8000
CMD ["ledger", "serve", "--host", "0.0.0.0", "--port", "8000"]
