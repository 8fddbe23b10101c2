/* fuzz_titem.c - fuzz target: one vat transcript item through sp_titem_parse. */
#include "fuzz_util.h"

#include "../../ingest/sp_transcript.h"

/* Input: the stored bytes of one transcriptItems.item. Parsed slices must
 * lie inside the item; the filled struct must serialize. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size copy: slices past the end are ASan errors. */
    char *item = malloc(size ? size : 1);
    struct sp_titem it;
    struct sp_err err;
    int rc;

    memcpy(item, data, size);
    memset(&it, 0, sizeof it);
    it.node = SP_STR_LIT("n1");
    it.source = SP_STR_LIT("fuzz");
    it.vat_id = SP_STR_LIT("v1");
    it.item = sp_str_make(item, size);
    rc = sp_titem_parse(&it, item, size, &err);
    if (rc != SP_OK && rc != SP_EBADINPUT) abort();
    const struct sp_str *sl[] = {&it.d_type, &it.status, &it.snapshot_id};
    for (size_t i = 0; i < sizeof sl / sizeof sl[0]; i++) {
        if (sl[i]->p && (sl[i]->p < item || sl[i]->p + sl[i]->n > item + size)) {
            fprintf(stderr, "slice %zu outside the item\n", i);
            abort();
        }
    }
    if (strlen(it.d_hash) > SP_HASH_HEX_LEN || strlen(it.sc_hash) > SP_HASH_HEX_LEN) abort();
    struct sp_record rec = {SP_REC_TITEM, {.titem = &it}};
    fuzz_check_record(&rec);
    free(item);
    return 0;
}
