/// Renders REPORT.md (stub).
public struct ReportRenderer {
    /// The folder of results.
    public var resultsFolder: String
    /// Creates the renderer.
    public init(resultsFolder: String) { self.resultsFolder = resultsFolder }
    /// Writes the report.
    public func write(to path: String) throws {}
}
