public enum ExperimentKitPlaceholder {}
