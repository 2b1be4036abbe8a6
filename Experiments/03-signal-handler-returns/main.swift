print("03-signal-handler-returns")
