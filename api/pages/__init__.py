"""Web pages for people, served by the same app: verify a credential, open a shared record, and the
learner's own record and shares. Server-rendered, in English and Welsh, working without JavaScript.
"""
