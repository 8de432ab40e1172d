/// Errors of registry operations, mapped to HTTP statuses by the HTTP layer.
public enum RegistryError: Error, Sendable, Equatable {
    case notFound
    /// Another record already holds this name (409 on rename).
    case nameTaken(String)
    case validation(ValidationFailure)
    /// The LMDB map is full (507).
    case storageFull
    /// Any other storage failure, with LMDB's message (500).
    case storage(String)

    public static func == (lhs: RegistryError, rhs: RegistryError) -> Bool {
        switch (lhs, rhs) {
        case (.notFound, .notFound), (.storageFull, .storageFull): true
        case (.nameTaken(let a), .nameTaken(let b)): a == b
        case (.storage(let a), .storage(let b)): a == b
        case (.validation(let a), .validation(let b)): a.issues == b.issues
        default: false
        }
    }
}
