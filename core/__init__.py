"""Bottom layer of the project: paths, parameters, the canonical data schema and table I/O.

Everything else imports from here; nothing here imports from the rest of the project.
"""
