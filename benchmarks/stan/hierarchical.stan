// The default spec (models/hierarchical.toml) as a Stan program: the same model, parameterisation and priors as the
// PyMC graph of src/bayes_sauce/model/{build,families,effects}.py for structure = "families", likelihood =
// "marginal", developers = "pooled_groups", developer_dist = "normal", mundlak = true, family_dist = "skew_normal",
// finetunes = "mixture", failures = "mixture", accuracy_noise = true, closed_models = "same", time = "cohort".
// Parameters carry the PyMC free variables' names, shapes and element order, so that the same deterministics
// (benchmarks/stan/data.py) and the same gate can be computed from either sampler's draws.
// The data (index arrays 1-based) are built from the model's Design by benchmarks/stan/data.py::stan_data.
functions {
  // Elementwise log Phi(z), z clipped at +-35 as in families._log_Phi (std_normal_lcdf sums its argument).
  vector log_Phi(vector z) {
    return log(0.5 * erfc(-fmin(fmax(z, -35), 35) / sqrt2()));
  }
}
data {
  int<lower=1> N;                               // models
  int<lower=1> D;                               // developers (families' base developers)
  int<lower=1> F;                               // families
  int<lower=0> K;                               // fine-tuners
  int<lower=1> P;                               // pools
  int<lower=1> T;                               // periods (cohorts)
  // Fixed effects: free offsets with a zero at the reference label, as append_row(free, 0)[*_perm].
  array[P] int<lower=1, upper=P> pool_perm;
  array[T] int<lower=1, upper=T> period_perm;
  // Developers: pool, Mundlak covariate, centring, and (a developer that based one family) its combined level.
  array[D] int<lower=1, upper=P> pool_of_developer;
  vector[D] mean_log_compute;
  int<lower=0, upper=D> D_on;                   // centred developer levels
  array[D_on] int<lower=1, upper=D> dev_on;
  array[D - D_on] int<lower=1, upper=D> dev_off;
  vector<lower=0, upper=1>[D] single;           // 1: the developer based one family only
  array[D] int<lower=1, upper=F> family_of;     // a single developer's family (any family for the others)
  // Families: base developer, compute, period; the ones with a level of their own (the others are "alone").
  array[F] int<lower=1, upper=D> base_of_family;
  vector[F] family_x;
  array[F] int<lower=1, upper=T> family_period;
  int<lower=0, upper=F> F_shared;
  array[F_shared] int<lower=1, upper=F> shared;
  // Fine-tuners with a sampled effect (two fine-tunes or more): centred from five.
  int<lower=0, upper=K> K_on;
  int<lower=0, upper=K> K_off;
  array[K_on] int<lower=1, upper=K> tuner_on;
  array[K_off] int<lower=1, upper=K> tuner_off;
  // Models: family, compute apart from the family's, fine-tuner (K + 1: a root, no effect).
  array[N] int<lower=1, upper=F> family_idx;
  vector[N] dx;
  array[N] int<lower=1, upper=K + 1> tuner_of_model;
  // Observations: the logit of the normalised score (kept half a question inside (0, 1)) and its noise.
  vector[N] y;
  vector<lower=0>[N] binomial_var_u;            // p (1 - p) / n / (1 - floor)^2 at the observed accuracy
  vector<lower=0>[N] logit_sd;                  // binomial sampling SD of y (delta method)
  real<lower=0, upper=1> floor_;                // the chance floor
  real<lower=0, upper=0.5> edge;                // half a question on the normalised scale: censored there
  // Mixture: compared = a fine-tune in a family with other members.
  int<lower=0, upper=N> N_cmp;
  array[N_cmp] int<lower=1, upper=N> cmp;
  array[N - N_cmp] int<lower=1, upper=N> solo;
  // Censored observations (a score at or below chance, or perfect).
  int<lower=0, upper=N> N_low;
  array[N_low] int<lower=1, upper=N> at_low;
  int<lower=0, upper=N> N_high;
  array[N_high] int<lower=1, upper=N> at_high;
  real failure_logit_mean;
  real<lower=0> failure_logit_sd;
}
transformed data {
  real log_2pi = log(2 * pi());
  real sqrt_2_over_pi = sqrt(2 / pi());
  vector[N] u = inv_logit(y);
  vector[N] log_jacobian = log(u) + log1m(u);   // of y = logit(u): the core component is a density of u
  vector[N] logit_var_per_u_var = inv(square(u .* (1 - u)));
  // The failure component is fixed: Normal(failure_logit_mean, sqrt(failure_logit_sd^2 + logit_sd^2)).
  vector[N_cmp] failure_lp;
  {
    vector[N_cmp] failure_var = square(failure_logit_sd) + square(logit_sd[cmp]);
    failure_lp = -0.5 * (log_2pi + log(failure_var) + square(y[cmp] - failure_logit_mean) ./ failure_var);
  }
}
parameters {
  real alpha;
  real beta;
  vector[T - 1] period_offset;
  real<lower=0> sigma_developer;
  real mundlak;
  real<lower=0> sigma_family;
  real family_skew;
  vector[P - 1] pool_offset;
  vector[D_on] developer_level_c;
  vector[D - D_on] developer_level_z;
  vector[F_shared] family_level_c;
  real<lower=0> sigma_finetuner;
  vector[K_on] finetuner_effect_raw_c;
  vector[K_off] finetuner_effect_raw_z;
  real beta_within;
  real<lower=0> accuracy_noise;
  real<lower=0, upper=1> damaged_share;
  real<lower=0> damaged_shift;
  real<lower=0> sigma_damaged;
  real failure_rate;
}
model {
  vector[T] period = append_row(period_offset, 0)[period_perm];
  vector[P] pool = append_row(pool_offset, 0)[pool_perm];
  // Skew-normal families with mean zero around the developer's line: location shifted by scale * E[SN(0, 1, a)].
  real mean_shift = family_skew / sqrt(1 + square(family_skew)) * sqrt_2_over_pi;
  real family_sd = sigma_family * sqrt(1 - square(mean_shift));
  // Developers: a single-family developer's combined level (developer + family) is sampled at its family's
  // compute and period, with spread sqrt(sigma_developer^2 + SD_family^2).
  vector[D] centre = alpha + pool[pool_of_developer] + mundlak * mean_log_compute;
  vector[D] shift = single .* (beta * family_x[family_of] + period[family_period[family_of]]);
  vector[D] spread = sigma_developer + single * (sqrt(square(sigma_developer) + square(family_sd)) - sigma_developer);
  vector[D] level;
  level[dev_on] = developer_level_c;
  level[dev_off] = centre[dev_off] + shift[dev_off] + spread[dev_off] .* developer_level_z;
  level -= shift;
  // Families: a family whose developer based no other has the developer's (combined) level; the others their own.
  vector[F] expected = level[base_of_family] + beta * family_x + period[family_period];
  vector[F] family_level = expected;
  family_level[shared] = family_level_c;
  vector[K + 1] tuner = rep_vector(0, K + 1);
  tuner[tuner_on] = finetuner_effect_raw_c;
  tuner[tuner_off] = sigma_finetuner * finetuner_effect_raw_z;
  vector[N] mu = family_level[family_idx] + beta_within * dx + tuner[tuner_of_model];

  // Priors (models/hierarchical.toml).
  alpha ~ normal(0, 1.5);
  beta ~ normal(0.5, 0.5);
  period_offset ~ normal(0, 1);
  sigma_developer ~ normal(0, 1);
  mundlak ~ normal(0, 0.5);
  sigma_family ~ normal(0, 1);
  family_skew ~ normal(0, 2);
  pool_offset ~ normal(0, 1);
  sigma_finetuner ~ normal(0, 0.5);
  beta_within ~ normal(0, 0.5);
  accuracy_noise ~ normal(0, 0.02);
  damaged_share ~ beta(1, 9);
  damaged_shift ~ gamma(4, 4);
  sigma_damaged ~ gamma(2, 4);
  failure_rate ~ normal(-3, 1.5);

  // Hierarchy: centred where the data pin the effect, non-centred elsewhere.
  developer_level_c ~ normal(centre[dev_on] + shift[dev_on], spread[dev_on]);
  developer_level_z ~ std_normal();
  family_level_c ~ skew_normal(expected[shared] - sigma_family * mean_shift, sigma_family, family_skew);
  finetuner_effect_raw_c ~ normal(0, sigma_finetuner);
  finetuner_effect_raw_z ~ std_normal();

  // Likelihood. Core: the normalised accuracy ~ Normal(invlogit(mu), sqrt(p (1 - p) / n + tau^2) / (1 - floor)),
  // as a density of y, censored at the edges.
  vector[N] var_u = binomial_var_u + square(accuracy_noise / (1 - floor_));
  vector[N] core_sd = sqrt(var_u);
  vector[N] centre_u = inv_logit(mu);
  vector[N] core = -0.5 * (log_2pi + log(var_u) + square(u - centre_u) ./ var_u) + log_jacobian;
  core[at_low] = log_Phi((edge - centre_u[at_low]) ./ core_sd[at_low]);
  core[at_high] = log_Phi((edge - (1 - centre_u[at_high])) ./ core_sd[at_high]);
  target += sum(core[solo]);
  // Compared fine-tunes: (1 - pi) [(1 - w) core + w damaged] + pi failure.
  {
    vector[N_cmp] var_damaged = var_u[cmp] .* logit_var_per_u_var[cmp] + square(sigma_damaged);
    real log_keep = log1m_inv_logit(failure_rate);
    vector[N_cmp] damaged = -0.5 * (log_2pi + log(var_damaged) + square(y[cmp] - mu[cmp] + damaged_shift) ./ var_damaged);
    vector[N_cmp] kept = log_sum_exp(log1m(damaged_share) + core[cmp], log(damaged_share) + damaged);
    target += sum(log_sum_exp(log_keep + kept, log_inv_logit(failure_rate) + failure_lp));
  }
}
