print("02-pool-map-hang")
