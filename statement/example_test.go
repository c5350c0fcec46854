package statement_test

import (
	"errors"
	"fmt"

	"github.com/s3bridge/s3bridge/statement"
)

func ExampleParseLoad() {
	l, err := statement.ParseLoad(`LOAD DATA FROM S3 PREFIX 's3-us-west-2://my-data/employee_data'
		INTO TABLE employees FIELDS TERMINATED BY ',' LINES TERMINATED BY '\n'
		(ID, FIRSTNAME, LASTNAME, EMAIL);`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.Source, l.URI, l.Table, len(l.Targets))
	fmt.Println(l.MariaDBLocalInfile("Reader::s3bridge_42"))
	opts, err := l.PostgresCopyOptions()
	fmt.Println(opts, err)
	// Output:
	// PREFIX s3-us-west-2://my-data/employee_data employees 4
	// LOAD DATA LOCAL INFILE 'Reader::s3bridge_42' INTO TABLE `employees` FIELDS TERMINATED BY ',' LINES TERMINATED BY '\n' (`ID`, `FIRSTNAME`, `LASTNAME`, `EMAIL`)
	// FORMAT text, DELIMITER ',', NULL E'\\N' <nil>
}

func ExampleLoad_PostgresCopyOptions() {
	l, err := statement.ParseLoad("LOAD DATA FROM S3 's3://mybucket/data.txt' INTO TABLE table1 (column1, @var1) SET column2 = @var1 * 100")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = l.PostgresCopyOptions()
	var unsupported *statement.UnsupportedError
	if errors.As(err, &unsupported) {
		fmt.Println("convert rows instead of passing", unsupported.Clause, "to COPY")
	}
	// Output:
	// convert rows instead of passing SET to COPY
}

func ExampleParseExport() {
	e, err := statement.ParseExport("SELECT id, name INTO OUTFILE S3 's3://b/people' FORMAT CSV HEADER MANIFEST ON FROM people WHERE active")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s\n%s %s header=%v manifest=%v\n", e.Query, e.URI, e.Format, e.Header, e.Manifest)

	_, err = statement.ParseExport("SELECT * FROM people FOR UPDATE INTO OUTFILE S3 's3://b/p'")
	fmt.Println(err)
	// Output:
	// SELECT id, name FROM people WHERE active
	// s3://b/people CSV header=true manifest=true
	// line 1 column 22: an export only reads: locking clause FOR UPDATE is not allowed near "FOR UPDATE INTO OUTFILE S3 's3://b/p'"
}
