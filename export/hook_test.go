package export

// KillAt sets the test hook that ends r's runs at a point, as an agent
// killed there (see Runner.killAt).
func KillAt(r *Runner, f func(point string) error) { r.killAt = f }
