// Package bulk holds the contracts between the capabilities that move rows
// (load, export, and the connectors and pipelines to come) and the
// database drivers below them, as riverdriver sits below River's drivers:
// a Sink takes a load's rows in one transaction, a Source streams a
// query's. It also holds what every driver's bulk path shares: decoding
// an object into rows for a database that can't parse it, batches that
// skip the rows a database rejects, header-to-column mapping. Drivers
// import it; it imports no driver and no capability.
package bulk
