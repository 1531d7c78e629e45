print("rsynth")
