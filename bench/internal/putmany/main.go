// Command putmany writes (or deletes) many tiny CSV objects in parallel,
// for bench/connector.sh's incremental run over 100,000 objects: one
// object per index i in from, from+step, … (n of them), keyed
// PREFIX + i as 7 digits + SUFFIX + ".csv", holding the row "i,name i".
//
//	putmany -bucket B -prefix inc/ -n 99900
//	putmany -bucket B -prefix inc/ -n 100 -step 999 -suffix -late1
//	putmany -bucket B -prefix inc/ -n 100 -step 999 -suffix -late1 -delete
//
// The endpoint and credentials come from the AWS_* variables.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// keys is a generated set of objects.
type keys struct {
	prefix, suffix string
	from, n, step  int
}

func (k keys) key(j int) (string, int) {
	i := k.from + j*k.step
	return fmt.Sprintf("%s%07d%s.csv", k.prefix, i, k.suffix), i
}

func main() {
	bucket := flag.String("bucket", "", "the bucket (must exist)")
	var k keys
	flag.StringVar(&k.prefix, "prefix", "", "key prefix")
	flag.StringVar(&k.suffix, "suffix", "", "key suffix, before .csv")
	flag.IntVar(&k.from, "from", 0, "first index")
	flag.IntVar(&k.n, "n", 0, "how many objects")
	flag.IntVar(&k.step, "step", 1, "index step")
	parallel := flag.Int("parallel", 64, "requests in flight")
	del := flag.Bool("delete", false, "delete the objects instead of writing them")
	flag.Parse()
	if *bucket == "" || k.n <= 0 || k.step <= 0 {
		fmt.Fprintln(os.Stderr, "usage: putmany -bucket B [-prefix P] [-suffix S] [-from I] -n N [-step K] [-parallel P] [-delete]")
		os.Exit(2)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired))
	if err != nil {
		fmt.Fprintln(os.Stderr, "putmany: load AWS configuration:", err)
		os.Exit(1)
	}
	api := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if *del {
		err = remove(ctx, api, *bucket, k)
	} else {
		err = put(ctx, api, *bucket, k, *parallel)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "putmany:", err)
		os.Exit(1)
	}
}

// put writes the objects, parallel at a time.
func put(ctx context.Context, api *s3.Client, bucket string, k keys, parallel int) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for j := range k.n {
		key, i := k.key(j)
		g.Go(func() error {
			body := fmt.Sprintf("%d,name %d\n", i, i)
			_, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
				Body: strings.NewReader(body), ContentLength: aws.Int64(int64(len(body)))})
			if err != nil {
				return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// remove deletes the objects, 1000 a request (S3's limit for DeleteObjects).
func remove(ctx context.Context, api *s3.Client, bucket string, k keys) error {
	for start := 0; start < k.n; start += 1000 {
		var ids []types.ObjectIdentifier
		for j := start; j < min(start+1000, k.n); j++ {
			key, _ := k.key(j)
			ids = append(ids, types.ObjectIdentifier{Key: aws.String(key)})
		}
		out, err := api.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return fmt.Errorf("delete %d objects of s3://%s/%s: %w", len(ids), bucket, k.prefix, err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("delete s3://%s/%s: %s", bucket, aws.ToString(e.Key), aws.ToString(e.Message))
		}
	}
	return nil
}
