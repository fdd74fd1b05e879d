/*
 * bench/reprepare.ts's probe, built against better-sqlite3's own SQLite (its amalgamation and
 * defines): reads records from stdin, `S <sql>`, then `P <@name or #index> <t|r|i|n> <value>`
 * (text, real, integer, null: a JS string, number, BigInt, null as better-sqlite3 binds them),
 * then `E`; runs each statement three times as better-sqlite3 does (bind, step to the end,
 * reset, clear the bindings) and prints `<record> <re-prepares>` (SQLITE_STMTSTATUS_REPREPARE):
 * 3 when SQLite prepared it again at every run. Values escape \n, \t and \\.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sqlite3.h"

static void unescape(char *s) {
  char *o = s;
  for (char *p = s; *p; p++) {
    if (*p == '\\' && p[1]) {
      p++;
      *o++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
    } else {
      *o++ = *p;
    }
  }
  *o = 0;
}

typedef struct { char name[128]; char type; char *value; } Param;

int main(int argc, char **argv) {
  sqlite3 *db;
  if (argc < 2 || sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, 0)) { fprintf(stderr, "usage: reprepare <db file> (could not open it)\n"); return 1; }
  static char line[16 << 20];
  static Param ps[1024];
  char *sql = 0;
  int np = 0, rec = 0;
  while (fgets(line, sizeof line, stdin)) {
    size_t n = strlen(line);
    if (n && line[n - 1] == '\n') line[n - 1] = 0;
    if (line[0] == 'S') {
      free(sql);
      unescape(line + 2);
      sql = strdup(line + 2);
      np = 0;
    } else if (line[0] == 'P' && np < 1024) {
      char *name = line + 2, *type = strchr(name, ' ');
      if (!type) continue;
      *type++ = 0;
      char *value = type[1] ? type + 2 : type + 1;
      unescape(value);
      strncpy(ps[np].name, name, 127);
      ps[np].name[127] = 0;
      ps[np].type = *type;
      ps[np].value = strdup(value);
      np++;
    } else if (line[0] == 'E') {
      sqlite3_stmt *st;
      int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, 0);
      if (rc) {
        printf("%d error %s\n", rec++, sqlite3_errmsg(db));
      } else {
        int err = 0;
        for (int run = 0; run < 3 && !err; run++) {
          for (int i = 0; i < np; i++) {
            int idx = ps[i].name[0] == '#' ? atoi(ps[i].name + 1) : sqlite3_bind_parameter_index(st, ps[i].name);
            if (idx <= 0) continue;
            switch (ps[i].type) {
              case 't': sqlite3_bind_text(st, idx, ps[i].value, -1, SQLITE_TRANSIENT); break;
              case 'r': sqlite3_bind_double(st, idx, atof(ps[i].value)); break;
              case 'i': sqlite3_bind_int64(st, idx, atoll(ps[i].value)); break;
              default: sqlite3_bind_null(st, idx);
            }
          }
          while ((rc = sqlite3_step(st)) == SQLITE_ROW) {}
          if (rc != SQLITE_DONE) { printf("%d error %s\n", rec, sqlite3_errmsg(db)); err = 1; }
          sqlite3_reset(st);
          sqlite3_clear_bindings(st);
        }
        if (!err) printf("%d %d\n", rec, sqlite3_stmt_status(st, SQLITE_STMTSTATUS_REPREPARE, 0));
        rec++;
        sqlite3_finalize(st);
      }
      for (int i = 0; i < np; i++) free(ps[i].value);
      np = 0;
    }
  }
  sqlite3_close(db);
  return 0;
}
