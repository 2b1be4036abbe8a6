print("05-inprocess-guard")
