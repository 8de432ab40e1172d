import CLMDB
import Foundation
import RegistrySupport
import Synchronization

/// An LMDB failure, with the C return code and LMDB's own message.
public struct LMDBError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let operation: String
    public var message: String { String(cString: mdb_strerror(code)) }
    public var isMapFull: Bool { code == MDB_MAP_FULL }
    public var description: String { "\(operation): \(message) (code \(code))" }

    package static func check(_ code: Int32, _ operation: @autoclosure () -> String) throws {
        if code != MDB_SUCCESS { throw LMDBError(code: code, operation: operation()) }
    }
}

/// A named database inside an environment.
public struct LMDBDatabase: Sendable {
    let dbi: MDB_dbi
}

/// Owns one `MDB_env`. Transactions are closures: a throwing body aborts, a returning one commits.
/// Write transactions are synchronous from begin to commit, so they stay on one thread as LMDB requires.
public final class LMDBEnvironment: @unchecked Sendable {
    package let handle: OpaquePointer
    public let path: String
    /// `releaseMappedPages` calls so far (tests count them).
    package let mappedPageReleases = Atomic<Int>(0)
    private let mapRange = Mutex<(UInt, Int)?>(nil)

    /// - Parameters:
    ///   - path: directory holding `data.mdb` and `lock.mdb`; created if missing.
    ///   - mapSize: maximum size of the database in bytes (LMDB reserves address space, not disk).
    public init(path: String, mapSize: Int, maxDatabases: UInt32 = 16) throws {
        self.path = path
        var env: OpaquePointer?
        try LMDBError.check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(code: ENOMEM, operation: "mdb_env_create") }
        do {
            try LMDBError.check(mdb_env_set_maxdbs(env, maxDatabases), "mdb_env_set_maxdbs")
            try LMDBError.check(mdb_env_set_mapsize(env, mapSize), "mdb_env_set_mapsize")
            try LMDBError.check(mdb_env_set_maxreaders(env, 256), "mdb_env_set_maxreaders")
            // MDB_NOTLS: read transactions are not tied to a thread, since Swift tasks hop threads.
            // MDB_NORDAHEAD (madvise MADV_RANDOM on the map): records are read once at start-up, then only the
            // pages a write walks are needed. Without it, faults also map neighbouring pages (fault-around,
            // readahead into large folios), and a few scattered writes made the whole data file resident.
            try LMDBError.check(mdb_env_open(env, path, UInt32(MDB_NOTLS | MDB_NORDAHEAD), 0o640), "open LMDB environment at \(path)")
        } catch {
            mdb_env_close(env)
            throw error
        }
        self.handle = env
    }

    deinit { mdb_env_close(handle) }

    /// Opens (creating if needed) a named database. Call before concurrent use.
    public func openDatabase(_ name: String, integerKeys: Bool = false) throws -> LMDBDatabase {
        try write { txn in
            var dbi: MDB_dbi = 0
            var flags = UInt32(MDB_CREATE)
            if integerKeys { flags |= UInt32(MDB_INTEGERKEY) }
            try LMDBError.check(mdb_dbi_open(txn.handle, name, flags, &dbi), "open database \(name)")
            return LMDBDatabase(dbi: dbi)
        }
    }

    public func read<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        try transaction(flags: UInt32(MDB_RDONLY), body)
    }

    public func write<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        try transaction(flags: 0, body)
    }

    private func transaction<T>(flags: UInt32, _ body: (LMDBTransaction) throws -> T) throws -> T {
        var txnHandle: OpaquePointer?
        try LMDBError.check(mdb_txn_begin(handle, nil, flags, &txnHandle), "mdb_txn_begin")
        let txn = LMDBTransaction(handle: txnHandle!)
        let result: T
        do {
            result = try body(txn)
        } catch {
            mdb_txn_abort(txn.handle)
            throw error
        }
        if flags & UInt32(MDB_RDONLY) != 0 {
            mdb_txn_abort(txn.handle)
        } else {
            // mdb_txn_commit frees the transaction whether or not it succeeds.
            try LMDBError.check(mdb_txn_commit(txn.handle), "mdb_txn_commit")
        }
        return result
    }

    /// The id of the last committed write transaction (`mdb_env_info`): one more per commit.
    package var lastTransactionID: Int {
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        return info.me_last_txnid
    }

    /// Drops the memory map's pages from the resident set (they are re-read from the page cache on the
    /// next access). LMDB maps the file read-only, so this never loses data, also inside a write transaction (its
    /// dirty pages are malloc'd, not in the map). The map's address is not in LMDB's API (`me_mapaddr` is only set with
    /// `MDB_FIXEDMAP`), so it is looked up in `/proc/self/maps` once: the map never moves (its size is set before
    /// `mdb_env_open` and never changed).
    public func releaseMappedPages() {
        mappedPageReleases.add(1, ordering: .relaxed)
        let range = mapRange.withLock { range in
            if range == nil { range = lookUpMapRange() }
            return range
        }
        guard let (start, length) = range, let address = UnsafeMutableRawPointer(bitPattern: start) else { return }
        madvise(address, length, MADV_DONTNEED)
    }

    /// The address and length of this environment's map of `data.mdb`: the mapping that holds a page LMDB hands out
    /// (the first record of the main database, which lists the named ones). Not just any mapping of the file: another
    /// environment on the same file may be closing (tests reopen stores), and its address may then be reused for
    /// anonymous memory, which `MADV_DONTNEED` would zero.
    private func lookUpMapRange() -> (UInt, Int)? {
        let inMap: UInt? = try? read { txn in
            var cursor: OpaquePointer?
            guard mdb_cursor_open(txn.handle, 1, &cursor) == 0 else { return nil }  // 1: MAIN_DBI
            defer { mdb_cursor_close(cursor) }
            var key = MDB_val()
            var data = MDB_val()
            guard mdb_cursor_get(cursor, &key, &data, MDB_FIRST) == 0, let pointer = key.mv_data else { return nil }
            return UInt(bitPattern: pointer)
        }
        guard let inMap, let mapping = ProcFS.mappings().first(where: { $0.start <= inMap && inMap < $0.end }) else { return nil }
        return (mapping.start, mapping.length)
    }

    /// Bytes in use (the data file's pages less those on LMDB's free list, which later writes reuse before the file
    /// grows), the file's pages, the configured map size and the page size. The file itself never shrinks: rows
    /// deleted (rollups past their window, a deleted service) free pages inside it, and only this count shows that room.
    public func usage() -> StorageUsage {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        mdb_env_info(handle, &info)
        mdb_env_stat(handle, &stat)
        let pageSize = Int(stat.ms_psize)
        let filePages = info.me_last_pgno + 1
        // The free list is read in a later transaction than `info`: never count more free pages than the file has.
        let usedPages = max(0, filePages - freePages())
        return StorageUsage(usedBytes: usedPages * pageSize, fileBytes: filePages * pageSize, mapSize: info.me_mapsize, pageSize: pageSize)
    }

    /// Pages on the free list (database 0, FREE_DBI): one entry per freeing transaction, each a list of page numbers
    /// whose first element is its length, as `mdb_stat -f` counts them.
    private func freePages() -> Int {
        let counted: Int? = try? read { txn in
            var cursor: OpaquePointer?
            guard mdb_cursor_open(txn.handle, 0, &cursor) == 0 else { return 0 }
            defer { mdb_cursor_close(cursor) }
            var key = MDB_val()
            var data = MDB_val()
            var total = 0
            var operation = MDB_FIRST
            while mdb_cursor_get(cursor, &key, &data, operation) == 0 {
                if data.mv_size >= MemoryLayout<Int>.size, let list = data.mv_data { total += list.loadUnaligned(as: Int.self) }
                operation = MDB_NEXT
            }
            return total
        }
        return counted ?? 0
    }
}

/// A transaction handle valid only inside the closure that received it.
public struct LMDBTransaction {
    package let handle: OpaquePointer

    /// Runs `body` in a nested write transaction: its changes merge into this one when it returns,
    /// and are discarded alone when it throws.
    public func nested<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        var child: OpaquePointer?
        try LMDBError.check(mdb_txn_begin(mdb_txn_env(handle), handle, 0, &child), "mdb_txn_begin (nested)")
        let result: T
        do {
            result = try body(LMDBTransaction(handle: child!))
        } catch {
            mdb_txn_abort(child)
            throw error
        }
        try LMDBError.check(mdb_txn_commit(child), "mdb_txn_commit (nested)")
        return result
    }

    public func get(_ db: LMDBDatabase, _ key: [UInt8]) throws -> [UInt8]? {
        try key.withUnsafeBytes { keyBytes in
            var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            var v = MDB_val()
            let rc = mdb_get(handle, db.dbi, &k, &v)
            if rc == MDB_NOTFOUND { return nil }
            try LMDBError.check(rc, "mdb_get")
            return Array(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
        }
    }

    public func put(_ db: LMDBDatabase, _ key: [UInt8], _ value: [UInt8]) throws {
        try key.withUnsafeBytes { keyBytes in
            try value.withUnsafeBytes { valueBytes in
                var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
                var v = MDB_val(mv_size: valueBytes.count, mv_data: UnsafeMutableRawPointer(mutating: valueBytes.baseAddress))
                try LMDBError.check(mdb_put(handle, db.dbi, &k, &v, 0), "mdb_put")
            }
        }
    }

    /// Deletes a key; returns false when it was not there.
    @discardableResult
    public func delete(_ db: LMDBDatabase, _ key: [UInt8]) throws -> Bool {
        try key.withUnsafeBytes { keyBytes in
            var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            let rc = mdb_del(handle, db.dbi, &k, nil)
            if rc == MDB_NOTFOUND { return false }
            try LMDBError.check(rc, "mdb_del")
            return true
        }
    }

    /// Visits entries in key order, starting at the first key ≥ `from` (or the first key).
    /// The body returns false to stop.
    public func forEach(_ db: LMDBDatabase, from: [UInt8]? = nil, _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        var cursor: OpaquePointer?
        try LMDBError.check(mdb_cursor_open(handle, db.dbi, &cursor), "mdb_cursor_open")
        defer { mdb_cursor_close(cursor) }
        var k = MDB_val()
        var v = MDB_val()
        var rc: Int32
        if let from {
            rc = from.withUnsafeBytes { fromBytes in
                k = MDB_val(mv_size: fromBytes.count, mv_data: UnsafeMutableRawPointer(mutating: fromBytes.baseAddress))
                return mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE)
            }
        } else {
            rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
        }
        while rc == MDB_SUCCESS {
            let key = Array(UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size))
            let value = Array(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
            if try !body(key, value) { return }
            rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
        }
        if rc != MDB_NOTFOUND { try LMDBError.check(rc, "mdb_cursor_get") }
    }

    /// Deletes every key in [from, to).
    public func deleteRange(_ db: LMDBDatabase, from: [UInt8], to: [UInt8]) throws {
        var keys: [[UInt8]] = []
        try forEach(db, from: from) { key, _ in
            guard key.lexicographicallyPrecedes(to) else { return false }
            keys.append(key)
            return true
        }
        for key in keys { try delete(db, key) }
    }
}

extension UInt64 {
    /// Big-endian bytes: keys sort numerically in LMDB's default byte order.
    var bigEndianBytes: [UInt8] { withUnsafeBytes(of: self.bigEndian) { Array($0) } }

    package init?(bigEndianBytes bytes: [UInt8]) {
        guard bytes.count == 8 else { return nil }
        self = bytes.reduce(0) { ($0 << 8) | UInt64($1) }
    }
}

/// What the store uses of its map (`LMDBEnvironment.usage`).
public struct StorageUsage: Sendable, Equatable {
    /// The file's pages less those on LMDB's free list: what the data needs.
    public var usedBytes: Int
    /// The file's pages (its high-water mark: LMDB never shrinks it).
    public var fileBytes: Int
    /// `--map-size-mb`: where writes get 507.
    public var mapSize: Int
    public var pageSize: Int

    public init(usedBytes: Int, fileBytes: Int, mapSize: Int, pageSize: Int) {
        self.usedBytes = usedBytes
        self.fileBytes = fileBytes
        self.mapSize = mapSize
        self.pageSize = pageSize
    }
}
