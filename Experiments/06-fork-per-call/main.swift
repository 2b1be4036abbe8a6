print("06-fork-per-call")
