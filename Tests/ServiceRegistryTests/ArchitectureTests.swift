import Foundation
import Testing

/// docs/ARCHITECTURE.md: dependencies point one way, Support and Model ← Store ← Probe, Discovery, Exposition,
/// Dashboard, TLS ← HTTP ← App. Until the layers are SwiftPM targets (then the compiler keeps the rule), this test
/// does: it finds each folder's top-level types and fails on a file that names a type of a higher layer, or of another
/// folder of its own layer. `knownViolations` lists the ones still to be undone; it may only shrink (an entry that no
/// longer occurs fails the test too, so the list stays exact).
@Suite struct ArchitectureTests {
    static let rank = ["Support": 0, "Model": 1, "Store": 2, "Probe": 3, "Discovery": 3, "Exposition": 3, "Dashboard": 3, "TLS": 3,
                       "HTTP": 4, "App": 5]

    /// "File.swift -> Type (Folder)". Each is a reason the next change may land in the wrong place; see ARCHITECTURE.md.
    static let knownViolations: Set<String> = []

    @Test func dependenciesPointDown() throws {
        let root = TestPaths.packageRoot.appendingPathComponent("Sources/ServiceRegistry").path
        var owner: [String: String] = [:]
        var sources: [(folder: String, file: String, text: String)] = []
        let declaration = /^(?:public |package |internal |private |fileprivate )?(?:final )?(?:struct|enum|class|protocol|actor|typealias) ([A-Z]\w*)/
        for folder in try FileManager.default.contentsOfDirectory(atPath: root).sorted() where Self.rank[folder] != nil {
            for file in try FileManager.default.contentsOfDirectory(atPath: "\(root)/\(folder)").sorted() where file.hasSuffix(".swift") {
                let text = try String(contentsOfFile: "\(root)/\(folder)/\(file)", encoding: .utf8)
                sources.append((folder, file, text))
                for line in text.split(separator: "\n") {
                    if let match = line.prefixMatch(of: declaration) { owner[String(match.1)] = folder }
                }
            }
        }
        #expect(owner.count > 100, "found \(owner.count) types: the scan is broken")
        var found: Set<String> = []
        for source in sources {
            // Comments may name anything; code may not.
            let code = source.text.split(separator: "\n").map { line -> String in
                String(line.firstRange(of: "//").map { line[..<$0.lowerBound] } ?? line[...])
            }.joined(separator: "\n")
            // Identifiers, outside string literals (a string may say "Liveness").
            let unquoted = code.replacing(/"(?:[^"\\\n]|\\.)*"/, with: "\"\"")
            let words = Set(unquoted.split { !($0.isLetter || $0.isNumber || $0 == "_") }.map(String.init))
            for word in words {
                guard let other = owner[word], other != source.folder else { continue }
                if Self.rank[other]! >= Self.rank[source.folder]! { found.insert("\(source.file) -> \(word) (\(other))") }
            }
        }
        let new = found.subtracting(Self.knownViolations)
        let gone = Self.knownViolations.subtracting(found)
        #expect(new.isEmpty, "dependencies that point up or sideways:\n\(new.sorted().joined(separator: "\n"))")
        #expect(gone.isEmpty, "fixed, remove from knownViolations:\n\(gone.sorted().joined(separator: "\n"))")
    }
}
