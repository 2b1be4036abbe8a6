print("07-supervised-pool")
