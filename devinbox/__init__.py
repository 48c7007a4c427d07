"""A development inbox (like Mailpit): catches email over real SMTP and SMS over HTTP, in memory.

Run: `python -m devinbox --host 127.0.0.1 --http-port 8025 --smtp-port 1025`.
"""
