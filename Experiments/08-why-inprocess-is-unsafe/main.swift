print("08-why-inprocess-is-unsafe")
