/*
 * Reader of SNIIM cumulative milk-price workbooks (LecheDDMMYYYY.xlsx): every
 * date block of the sheet becomes rows of a columnar table, values as written.
 *
 * A block is: a title row containing "Precio promedio al consumidor por
 * litro" (case and accents ignored), the Spanish date ("31 de marzo de 2025"),
 * a header row "Estado | Ciudad | Leche pasteurizada | Leche
 * ultrapasteurizada" (type headers merged over their channel columns), a row
 * of channels ("Tiendas | Autoservicios" under each type), then city rows up
 * to a "Fuente" row, the next title or the end of the sheet.  Which column
 * holds which (type, channel) is read from the headers of each block.
 *
 * Nothing is normalised here: names keep their spaces, 0 stays 0; the ingest
 * layer decides what is missing and how names are spelled.
 */
#ifndef MILKCAST_SNIIM_H
#define MILKCAST_SNIIM_H

#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"
#include "milkcast/table.h"
#include "milkcast/xlsx.h"

typedef struct mc_sniim_info {
	char sheet[128];    /* the sheet the blocks were read from */
	int blocks;	    /* date blocks read */
	int32_t first_date; /* earliest block date, days since 1970 */
	int32_t last_date;  /* latest block date */
	size_t rows;	    /* rows of the returned table */
} mc_sniim_info;

/* Column indexes of the returned table, in order. */
enum {
	MC_SNIIM_DATE,	    /* DATE: the block's date */
	MC_SNIIM_STATE,	    /* STRING: forward-filled as written; "" on the average rows */
	MC_SNIIM_CITY,	    /* STRING: as written ("Veracruz ", "Promedio aritmético") */
	MC_SNIIM_MILK_TYPE, /* STRING: "Pasteurizada" | "Ultrapasteurizada" */
	MC_SNIIM_CHANNEL,   /* STRING: "Tiendas" | "Autoservicios", from the header */
	MC_SNIIM_PRICE,	    /* DOUBLE nullable: null when blank or "N.d."; 0 stays 0 */
	MC_SNIIM_RAW,	    /* STRING: the cell as written: "", "N.d.", "23.85" */
	MC_SNIIM_ROW,	    /* INT32: 1-based sheet row */
	MC_SNIIM_CELL,	    /* STRING: "C57" */
	MC_SNIIM_NCOLS
};

/*
 * Read every date block of a SNIIM cumulative workbook into rows as written,
 * block by block in sheet order, each city row giving its (type, channel)
 * cells left to right.  The first sheet that has a block is read; later
 * sheets are not looked at.  On success *out is a sealed table the caller
 * frees with mc_table_free(); info (may be NULL) describes it.  Errors
 * (MC_ERR_FORMAT unless the file is missing or unreadable) name the sheet,
 * row and cell: "cannot read 'x.xlsx': sheet 'Hoja1' row 3 cell A3:
 * expected a date like '31 de marzo de 2025', found 'foo'".
 */
mc_code mc_sniim_read(const char *path, mc_table **out, mc_sniim_info *info, mc_error *err);
/* The same from memory; `name` is used in messages. */
mc_code mc_sniim_read_mem(const uint8_t *p, size_t n, const char *name, mc_table **out,
			  mc_sniim_info *info, mc_error *err);
/* The same from a workbook the caller opened (and still owns). */
mc_code mc_sniim_read_xlsx(mc_xlsx *x, mc_table **out, mc_sniim_info *info, mc_error *err);

#endif
