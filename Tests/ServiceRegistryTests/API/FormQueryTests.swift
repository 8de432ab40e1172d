import Testing

@testable import RegistrySupport

/// `application/x-www-form-urlencoded` query decoding (SPEC §2), the one decoder every query reader uses.
@Suite struct FormQueryTests {
    func pairs(_ query: String) -> [String] { FormQuery.pairs(query[...]).map { "\($0.0)=\($0.1)" } }

    @Test func plusIsASpaceAndEscapesAreBytes() {
        #expect(pairs("q=billing+api") == ["q=billing api"])
        #expect(pairs("q=a%2Bb+c") == ["q=a+b c"])
        #expect(pairs("q=caf%C3%A9&x=%e2%9c%93") == ["q=café", "x=✓"])
        #expect(pairs("health%5Fstatus=ok") == ["health_status=ok"])
        #expect(pairs("label=team%3Apay+ops") == ["label=team:pay ops"])
        #expect(pairs("q=a=b") == ["q=a=b"])
    }

    @Test func emptyAndValuelessPairs() {
        #expect(pairs("") == [])
        #expect(pairs("a=1&&b=2&") == ["a=1", "b=2"])
        #expect(pairs("flag&q=") == ["flag=", "q="])
    }

    /// A component that is not a valid encoding stays as it was sent (only `+` is still a space).
    @Test func invalidEscapesAreKept() {
        #expect(pairs("q=100%+sure") == ["q=100% sure"])
        #expect(pairs("q=%zz&r=%4") == ["q=%zz", "r=%4"])
        #expect(pairs("q=%FF%FE") == ["q=%FF%FE"])
    }
}
