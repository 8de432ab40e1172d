import Foundation
import Testing

/// `scripts/test.sh` runs the tests that serve the registry on a live in-process port in a phase of their own
/// (`IN_PROCESS`): elsewhere, suites that block the cooperative pool starve those servers until their clients time
/// out. The list was built from failures seen, and a live test left out of it failed a whole-suite run
/// (`aNameResolvingToLinkLocalIsRefusedBeforeConnecting`, `.readTimeout` after 74 s). This keeps it complete.
@Suite struct TestPhaseTests {
    /// Calls that start a registry on a live port in this process.
    static let liveMarkers = ["withLiveRegistry(", "withProbingRegistry(", "liveScrape(", ".test(.live"]

    /// Every `@Test` function with its suite and body, from the sources under `Tests/` (brace matching on the text;
    /// the test sources keep braces inside strings balanced or out of test bodies).
    static func testFunctions() throws -> [(suite: String, name: String, body: String)] {
        let root = TestPaths.packageRoot.appendingPathComponent("Tests").path
        var found: [(String, String, String)] = []
        for case let path as String in FileManager.default.enumerator(atPath: root)! where path.hasSuffix(".swift") {
            let source = try String(contentsOfFile: "\(root)/\(path)", encoding: .utf8)
            var currentSuite = ""
            var cursor = source.startIndex
            while let test = source.range(of: "@Test", range: cursor..<source.endIndex) {
                // The suite is the last `@Suite ... struct NAME` before this test.
                if let suiteRange = source.range(of: "@Suite", options: .backwards, range: source.startIndex..<test.lowerBound),
                    let structRange = source.range(of: "struct ", range: suiteRange.upperBound..<test.lowerBound)
                {
                    currentSuite = Self.word(after: "", in: source[structRange.upperBound...]) ?? ""
                }
                guard let funcRange = source.range(of: "func ", range: test.upperBound..<source.endIndex),
                    let name = Self.word(after: "", in: source[funcRange.upperBound...]),
                    let open = source.range(of: "{", range: funcRange.upperBound..<source.endIndex)
                else { break }
                var depth = 0
                var end = open.lowerBound
                for position in source[open.lowerBound...].indices {
                    let character = source[position]
                    if character == "{" { depth += 1 }
                    if character == "}" {
                        depth -= 1
                        if depth == 0 {
                            end = position
                            break
                        }
                    }
                }
                found.append((currentSuite, name, String(source[open.lowerBound...end])))
                cursor = source.index(after: end)
            }
        }
        return found
    }

    static func word(after prefix: String, in text: some StringProtocol) -> String? {
        guard let start = prefix.isEmpty ? text.startIndex : text.range(of: prefix)?.upperBound else { return nil }
        let name = text[start...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        return name.isEmpty ? nil : String(name)
    }

    /// The names in `IN_PROCESS='a|b|c'` of scripts/test.sh.
    static func inProcessList() throws -> Set<String> {
        let script = try String(contentsOfFile: TestPaths.packageRoot.appendingPathComponent("scripts/test.sh").path, encoding: .utf8)
        guard let line = script.split(separator: "\n").first(where: { $0.hasPrefix("IN_PROCESS='") }) else { return [] }
        return Set(line.dropFirst("IN_PROCESS='".count).prefix { $0 != "'" }.split(separator: "|").map(String.init))
    }

    @Test func everyLiveInProcessTestRunsInTheInProcessPhase() throws {
        let listed = try Self.inProcessList()
        #expect(listed.count >= 10, "IN_PROCESS not found in scripts/test.sh")
        let tests = try Self.testFunctions()
        #expect(tests.count >= 200, "only \(tests.count) @Test functions found: the scan is broken")
        let live = tests.filter { test in Self.liveMarkers.contains { test.body.contains($0) } }
        #expect(live.count >= 20, "only \(live.count) live in-process tests found: the scan is broken")
        let missing = live.filter { !listed.contains($0.suite) && !listed.contains($0.name) }.map { "\($0.suite).\($0.name)" }
        #expect(missing.isEmpty, "serve the registry in-process but are not in scripts/test.sh's IN_PROCESS: \(missing.sorted())")
    }
}
