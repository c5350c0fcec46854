package export

// Validate checks the parameters as the runner will, without a database
// or S3: the CLI calls it so bad input fails before a task exists.
func (p Params) Validate() error {
	_, err := p.resolve()
	return err
}
