"""Model downloads: the HTTP transfer, streaming to a ``.part``, hashing, page-aligned buffers,
writeback and one lock per file.

May import: the foundation and the stages before it."""
