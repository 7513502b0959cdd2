internal import GRDB

extension CalibrationStore {
  /// The error a user should see for a database error: a full disk or a store locked
  /// too long become one line naming the store; others pass through.
  func translated(_ error: any Error) -> any Error {
    guard let e = error as? DatabaseError else { return error }
    switch e.resultCode {
    case .SQLITE_FULL: return StoreError.diskFull(store: path)
    case .SQLITE_BUSY, .SQLITE_LOCKED: return StoreError.busy(store: path)
    default: return error
    }
  }

  /// Runs `body`, translating database errors (see ``translated(_:)``).
  func translatingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch {
      throw translated(error)
    }
  }
}
