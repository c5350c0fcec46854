// Command listonly lists a bucket prefix with ListObjectsV2 and prints how
// many objects it holds: the floor an incremental connector run is
// measured against in bench/connector.sh, since such a run must at least
// list the prefix. It pages as s3store does (S3's 1000 keys a page) and
// keeps nothing but the count.
//
//	listonly -bucket B -prefix P
//
// The endpoint and credentials come from the AWS_* variables
// (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, …), as the aws CLI reads them.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func main() {
	bucket := flag.String("bucket", "", "the bucket")
	prefix := flag.String("prefix", "", "the key prefix")
	flag.Parse()
	if *bucket == "" {
		fmt.Fprintln(os.Stderr, "usage: listonly -bucket B [-prefix P]")
		os.Exit(2)
	}
	n, err := count(context.Background(), *bucket, *prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listonly:", err)
		os.Exit(1)
	}
	fmt.Println(n)
}

// count returns how many objects ListObjectsV2 shows under prefix.
func count(ctx context.Context, bucket, prefix string) (int, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired))
	if err != nil {
		return 0, fmt.Errorf("load AWS configuration: %w", err)
	}
	// MinIO on a bare host:port serves path-style requests only.
	api := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	pages := s3.NewListObjectsV2Paginator(api, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	n := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		n += len(page.Contents)
	}
	return n, nil
}
