print("01-direct-call")
