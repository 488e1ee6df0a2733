/* Calendar dates as days since 1970-01-01 (proleptic Gregorian), as Parquet's DATE. */
#ifndef MILKCAST_DATE_H
#define MILKCAST_DATE_H

#include <stdbool.h>
#include <stdint.h>

/* Days since the epoch for a civil date; month 1..12, day 1..31. */
int32_t mc_date_from_ymd(int y, int m, int d);
void mc_date_to_ymd(int32_t days, int *y, int *m, int *d);
/* 0 = Monday … 6 = Sunday (ISO). */
int mc_date_weekday(int32_t days);
bool mc_date_valid_ymd(int y, int m, int d);
/* Parse "YYYY-MM-DD" strictly; false on anything else. */
bool mc_date_parse_iso(const char *s, int32_t *days);
/* Format as "YYYY-MM-DD" into out (at least 11 bytes). */
void mc_date_format_iso(int32_t days, char out[11]);
/* Today in UTC. */
int32_t mc_date_today(void);
/* Parse a Spanish long date, "31 de marzo de 2025" (case- and accent-tolerant, extra spaces ok). */
bool mc_date_parse_spanish(const char *s, int32_t *days);

#endif
