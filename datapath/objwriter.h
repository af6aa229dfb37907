/* SPDX-License-Identifier: MIT */
/*
 * datapath/objwriter.h - one object written in parts, one at a time (objwriter.c).
 * Private to datapath/.
 */
#ifndef FERRY_DP_OBJWRITER_H
#define FERRY_DP_OBJWRITER_H

#include "dp_int.h"

/*
 * One object written in parts of @part_size, one at a time (objwriter.c).
 * dp_objwriter_commit() makes it appear and frees @w whatever it returns;
 * dp_objwriter_abort() (NULL ok) gives it up.
 */
struct dp_objwriter;
int dp_objwriter_new(struct s3_store *st, const char *key, size_t part_size,
		     struct dp_objwriter **out);
int dp_objwriter_write(struct dp_objwriter *w, const void *buf, size_t len);
uint64_t dp_objwriter_size(const struct dp_objwriter *w);
int dp_objwriter_commit(struct dp_objwriter *w);
void dp_objwriter_abort(struct dp_objwriter *w);

#endif /* FERRY_DP_OBJWRITER_H */
