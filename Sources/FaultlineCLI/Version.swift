/// What `faultline --version` prints. The source of truth is the Python
/// package's version (python/src/faultline/_version.py, which pyproject.toml
/// reads); CLITests' VersionTests fails when the two differ.
let faultlineVersion = "0.1.0"
