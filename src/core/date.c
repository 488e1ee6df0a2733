/* Civil-date arithmetic (Howard Hinnant's days-from-civil algorithm) and parsers. */
#include "milkcast/date.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int32_t mc_date_from_ymd(int y, int m, int d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	int yoe = y - era * 400;				  /* [0, 399] */
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* [0, 365] */
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;	  /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

void mc_date_to_ymd(int32_t days, int *y, int *m, int *d)
{
	int z = days + 719468;
	int era = (z >= 0 ? z : z - 146096) / 146097;
	int doe = z - era * 146097;
	int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

int mc_date_weekday(int32_t days)
{
	/* 1970-01-01 was a Thursday (3). */
	int w = (days + 3) % 7;
	return w < 0 ? w + 7 : w;
}

bool mc_date_valid_ymd(int y, int m, int d)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= mdays[m - 1] + (m == 2 && leap);
}

bool mc_date_parse_iso(const char *s, int32_t *days)
{
	int y, m, d, n = 0;
	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10)
		return false;
	for (int i = 0; i < 10; i++)
		if ((i == 4 || i == 7) ? s[i] != '-' : !isdigit((unsigned char)s[i]))
			return false;
	if (!mc_date_valid_ymd(y, m, d))
		return false;
	*days = mc_date_from_ymd(y, m, d);
	return true;
}

void mc_date_format_iso(int32_t days, char out[11])
{
	int y, m, d;
	mc_date_to_ymd(days, &y, &m, &d);
	unsigned yy = (unsigned)y % 10000u;
	out[0] = (char)('0' + yy / 1000);
	out[1] = (char)('0' + yy / 100 % 10);
	out[2] = (char)('0' + yy / 10 % 10);
	out[3] = (char)('0' + yy % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = '\0';
}

int32_t mc_date_today(void)
{
	return (int32_t)(time(NULL) / 86400);
}

/* Copy s lower-cased with the Spanish accented vowels folded to ASCII. */
static void fold_spanish(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 1 < cap; p++) {
		if (p[0] == 0xC3 && p[1]) {
			static const char from[] = "\xA1\xA9\xAD\xB3\xBA\x81\x89\x8D\x93\x9A";
			static const char to[] = "aeiouaeiou";
			const char *f = memchr(from, p[1], sizeof from - 1);
			if (f) {
				out[o++] = to[f - from];
				p++;
				continue;
			}
		}
		out[o++] = (char)tolower(*p);
	}
	out[o] = '\0';
}

bool mc_date_parse_spanish(const char *s, int32_t *days)
{
	static const char *const months[] = {"enero",	   "febrero", "marzo",	   "abril",
					     "mayo",	   "junio",   "julio",	   "agosto",
					     "septiembre", "octubre", "noviembre", "diciembre"};
	char buf[128], mon[32], de1[8], de2[8];
	fold_spanish(s, buf, sizeof buf);
	int d, y, n = 0;
	if (sscanf(buf, " %d %7s %31s %7s %d %n", &d, de1, mon, de2, &y, &n) != 5)
		return false;
	if (buf[n] != '\0' || strcmp(de1, "de") || strcmp(de2, "de"))
		return false;
	int m = 0;
	for (int i = 0; i < 12; i++)
		if (strcmp(mon, months[i]) == 0 || (i == 8 && strcmp(mon, "setiembre") == 0))
			m = i + 1;
	if (!m || !mc_date_valid_ymd(y, m, d))
		return false;
	*days = mc_date_from_ymd(y, m, d);
	return true;
}
