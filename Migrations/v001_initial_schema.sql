-- CalibStore schema v001. Append-only: never edit this file once shipped; add v002_….sql.
-- Tensors are little-endian, row-major BLOBs; shapes are JSON arrays of integers.

-- A calibration run: recorded from step files, replayed from a recording, or imported
-- from a checkpoint. Replayed runs read the samples of their recording (recordingID).
CREATE TABLE run (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('recorded', 'replayed', 'imported')),
  parentID INTEGER REFERENCES run(id) ON DELETE SET NULL,
  recordingID INTEGER REFERENCES run(id) ON DELETE RESTRICT,
  settingsDiff TEXT,              -- JSON: the settings that differ from the parent
  recipe TEXT,                    -- the recipe as given (YAML or JSON text)
  toolVersion TEXT NOT NULL,
  createdAt TEXT NOT NULL,        -- ISO 8601, UTC
  status TEXT NOT NULL CHECK (status IN ('in_progress', 'complete', 'failed')),
  note TEXT,
  completedSteps INTEGER NOT NULL DEFAULT 0,  -- activation steps fully written
  weightsDone INTEGER NOT NULL DEFAULT 0      -- 1 once the weight phase is written
);

-- A module of the calibrated model, shared by every run in the store.
CREATE TABLE module (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  type TEXT                       -- e.g. Linear, Attention; NULL when unknown
);

-- One observed value: (module, base name, step) of a recording, kept as recorded.
CREATE TABLE sample (
  id INTEGER PRIMARY KEY,
  recordingID INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
  moduleID INTEGER NOT NULL REFERENCES module(id),
  baseName TEXT NOT NULL CHECK (baseName IN ('weight', 'input', 'output', 'q', 'k', 'v')),
  step INTEGER NOT NULL,
  dtype TEXT NOT NULL,            -- safetensors dtype: F32, F16, BF16, …
  shape TEXT NOT NULL,
  byteCount INTEGER NOT NULL,
  checksum TEXT NOT NULL,         -- xxh64 of the data, 16 hex digits
  nanCount INTEGER NOT NULL DEFAULT 0,
  infCount INTEGER NOT NULL DEFAULT 0,
  data BLOB NOT NULL,
  UNIQUE (recordingID, moduleID, baseName, step)
);

-- The observer's state and the module's parameters after one lifecycle call.
CREATE TABLE observerState (
  id INTEGER PRIMARY KEY,
  runID INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
  moduleID INTEGER NOT NULL REFERENCES module(id),
  baseName TEXT NOT NULL,
  step INTEGER NOT NULL,
  observer TEXT,
  kwargs TEXT NOT NULL DEFAULT '{}',
  minShape TEXT, minValues BLOB,  -- running statistics (NULL for memoryless observers)
  maxValues BLOB,
  globalRange BLOB,               -- running whole-tensor (min, max) for the global scale
  scaleShape TEXT, scale BLOB,
  zeroPointDType TEXT, zeroPoint BLOB,
  globalScale BLOB,               -- float32, 4 bytes (keeps NaN and ±inf)
  UNIQUE (runID, moduleID, baseName, step)
);

-- The final quantization parameters of a run.
CREATE TABLE qparams (
  id INTEGER PRIMARY KEY,
  runID INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
  moduleID INTEGER NOT NULL REFERENCES module(id),
  baseName TEXT NOT NULL,
  observer TEXT,
  args TEXT NOT NULL,             -- compressed-tensors QuantizationArgs JSON
  scaleShape TEXT, scale BLOB,
  zeroPointDType TEXT, zeroPoint BLOB,
  globalScale BLOB,
  UNIQUE (runID, moduleID, baseName)
);

CREATE INDEX sample_by_module ON sample (moduleID, baseName, step);
CREATE INDEX observerState_by_run ON observerState (runID, moduleID, baseName, step);
