-- CalibStore schema v002: sample payloads move out of SQLite into an append-only file beside
-- the store, "<store>-samples". In WAL mode SQLite writes every BLOB byte twice (to the WAL,
-- then to the database at checkpoint); the segment file is written once and read with plain
-- pread, which is what recording and replay speed depend on. Rows of v001 keep their
-- payload inline in sample.data; new rows leave data empty and point into the segment.

-- The segment file's bookkeeping: one row.
CREATE TABLE sampleSegment (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  token TEXT NOT NULL,            -- also in the file's header: pairs the file with this store
  endOffset INTEGER NOT NULL,     -- bytes in use; anything after is an interrupted step's
  syncedOffset INTEGER NOT NULL   -- bytes known to be on disk (fdatasync); the rest is
                                  -- verified against checksums before a recording resumes
);
INSERT INTO sampleSegment (id, token, endOffset, syncedOffset)
  VALUES (1, lower(hex(randomblob(16))), 64, 64);

-- Where a sample's payload starts in the segment; NULL when it is inline in data (v001).
ALTER TABLE sample ADD COLUMN payloadOffset INTEGER;
