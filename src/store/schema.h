/* The schema of milkcast.db as an ordered list of migrations (PRAGMA user_version = steps applied).
 */
#ifndef MILKCAST_STORE_SCHEMA_H
#define MILKCAST_STORE_SCHEMA_H

extern const char *const mc_schema_steps[];
extern const int mc_schema_count;

#endif
