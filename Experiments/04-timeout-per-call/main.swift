print("04-timeout-per-call")
