"""The send service: start, resend, read and cancel verifications."""
