print("09-python-peers")
