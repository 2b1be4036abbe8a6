"""The package's version: the one source of truth. pyproject.toml reads it, and
`faultline --version` must print the same (CLITests' VersionTests and the wheel
test check; Sources/FaultlineCLI/Version.swift holds the Swift copy)."""
__version__ = "0.1.0"
