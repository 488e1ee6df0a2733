/*
 * Early stopping with the rule of XGBoost's Python package 1.7
 * (xgboost/callback.py EarlyStopping, minimise, min_delta 0) and the learning
 * curve it records; see docs/internals/model.md.
 */
#include "milkcast/xgb.h"

#include <math.h>
#include <stdlib.h>

void mc_xgb_stopper_init(mc_xgb_stopper *s, int rounds)
{
	s->rounds = rounds;
	s->seen = 0;
	s->since_best = 0;
	s->best_iteration = -1;
	s->best_score = NAN;
}

bool mc_xgb_stopper_update(mc_xgb_stopper *s, double score)
{
	int round = s->seen++;
	if (round == 0) {
		/* The first round is the best so far whatever its score (even NAN). */
		s->best_iteration = 0;
		s->best_score = score;
		s->since_best = 0;
	} else if (s->best_score > score) {
		/* Strictly smaller; a comparison with NAN is false, so no improvement. */
		s->best_iteration = round;
		s->best_score = score;
		s->since_best = 0;
	} else {
		s->since_best++;
	}
	return s->since_best >= s->rounds;
}

void mc_xgb_curve_init(mc_xgb_curve *c)
{
	c->n = 0;
	c->train_rmse = NULL;
	c->valid_rmse = NULL;
	c->best_iteration = -1;
	c->best_score = NAN;
	c->stopped_early = false;
}

void mc_xgb_curve_release(mc_xgb_curve *c)
{
	free(c->train_rmse);
	free(c->valid_rmse);
	mc_xgb_curve_init(c);
}
