-- CalibStore schema v003: runs say which arithmetic they used and keep torch's dtypes;
-- run ids are never reused; a recording remembers its inputs; an observer that saw no
-- samples is recorded as uncalibrated rather than dropped.

-- The arithmetic of a run's observers: 'model' (each operation in the samples' dtype, as
-- torch computes in a bf16 or f16 model) or 'float32' (samples upcast first). Runs written
-- before v003 used float32.
ALTER TABLE run ADD COLUMN arithmetic TEXT NOT NULL DEFAULT 'float32'
  CHECK (arithmetic IN ('model', 'float32'));

-- The process writing an in_progress run, "<host>:<pid>:<process start time>"; a run whose
-- writer is gone is stale (shown so by `runs`, removable without --force).
ALTER TABLE run ADD COLUMN owner TEXT;

-- The largest run id ever handed out. New runs take the next one, so an id, once
-- removed, never names another run: a command still holding it finds its run gone
-- instead of writing into a newcomer.
CREATE TABLE runSequence (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  lastID INTEGER NOT NULL
);
INSERT INTO runSequence (id, lastID) SELECT 1, COALESCE(max(id), 0) FROM run;

-- The dtype torch returns for a scale (torch.bfloat16, torch.float32, …) and keeps the
-- running min/max in; NULL for rows written before v003 (float32).
ALTER TABLE observerState ADD COLUMN scaleDType TEXT;
ALTER TABLE observerState ADD COLUMN rangeDType TEXT;
ALTER TABLE qparams ADD COLUMN scaleDType TEXT;

-- 0 for an activation whose observer received no samples (an MoE expert that got no
-- tokens): it has no scale, and export refuses it unless told what to do.
ALTER TABLE qparams ADD COLUMN calibrated INTEGER NOT NULL DEFAULT 1;

-- The files a recording was made from, in order, with their size and content checksum,
-- so that --resume refuses changed inputs.
CREATE TABLE runInput (
  runID INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('weights', 'step')),
  path TEXT NOT NULL,
  byteCount INTEGER NOT NULL,
  checksum TEXT NOT NULL,         -- xxh64 of the whole file, 16 hex digits
  PRIMARY KEY (runID, role, position)
);
