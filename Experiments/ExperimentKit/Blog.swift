/// The write-up this project answers, and its findings in our own words.
///
/// Glen Berseth, "Handling Segfaults in Python that occur in custom C++
/// libraries", 2015-05-04. Nothing here is copied from it: the findings are
/// restated, and the input list is the one its examples call the function with.
public enum Blog {
    /// The citation, as the report prints it.
    public static let citation = "Glen Berseth, “Handling Segfaults in Python that occur in custom C++ libraries”, 2015-05-04"

    /// The inputs the post feeds to `raise_a_fault` (which faults when r > 3).
    public static let inputs: [Int32] = [1, 2, 3, 4, 5, 4, 3, 2, 1, 10, 2]

    /// The victim that behaves like the post's library function.
    public static let symbol = "raise_a_fault"

    /// Whether the post's function faults for this input.
    public static func faults(_ input: Int32) -> Bool { input > 3 }

    /// The four findings, numbered 1…4, restated in our words.
    public static let findings: [Int: String] = [
        1: "Calling the faulting native function straight from the interpreter takes the whole interpreter down with it.",
        2: "Pool.map never returns once a worker has died; Ctrl-C did not stop it for the author, and processes were left behind.",
        3: "A SIGSEGV handler that simply returns leaves the processes busy at full CPU while nothing advances.",
        4: "apply_async with get(timeout=1) survives, but each crash costs the whole timeout, a slow correct call would be cut off, and the author wanted no timeout at all.",
    ]
}
