/* sp_empty.c - keeps every stage library non-empty while a folder is being filled in. */
typedef int sp_empty_translation_unit;
