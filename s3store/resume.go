package s3store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3bridge/s3bridge"
)

// UploadID is the staged object's multipart upload ID: with it a writer
// that died between Stage and Commit can be finished by another process
// (Client.Resume).
func (s *Staged) UploadID() string { return s.id }

// Resume completes the multipart upload uploadID of key with every part S3
// holds for it (ListParts), as the Commit of the Staged that started it
// would have, without its If-None-Match: the caller recorded the upload as
// its own before the writer died. An upload that no longer exists (already
// completed, or aborted) is an error satisfying s3bridge.ErrNotFound.
func (c *Client) Resume(ctx context.Context, bucket, key, uploadID string) (s3bridge.Object, error) {
	target := uri(bucket, key)
	inRegion, err := c.inRegion(ctx, bucket)
	if err != nil {
		return s3bridge.Object{}, err
	}
	var parts []types.CompletedPart
	var size int64
	in := &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID)}
	for {
		out, err := c.api.ListParts(ctx, in, inRegion)
		if err != nil {
			return s3bridge.Object{}, wrapErr("list parts", target, err, onRead)
		}
		for _, p := range out.Parts {
			parts = append(parts, types.CompletedPart{ETag: p.ETag, PartNumber: p.PartNumber,
				ChecksumCRC32: p.ChecksumCRC32, ChecksumCRC32C: p.ChecksumCRC32C,
				ChecksumSHA1: p.ChecksumSHA1, ChecksumSHA256: p.ChecksumSHA256})
			size += aws.ToInt64(p.Size)
		}
		if !aws.ToBool(out.IsTruncated) || out.NextPartNumberMarker == nil {
			break
		}
		in.PartNumberMarker = out.NextPartNumberMarker
	}
	u := &upload{c: c, bucket: bucket, key: key, target: target, inRegion: inRegion}
	return u.complete(ctx, uploadID, parts, size)
}
