-- PostgreSQL only: region paths compare byte by byte there too (see
-- ../postgres/0014_region_path_byte_order.sql). SQLite's default collation already does, and its
-- indexes answer from their own columns. This file keeps the two sets of names in step.
SELECT 1; -- dialect
