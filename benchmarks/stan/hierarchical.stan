// The default spec (models/hierarchical.toml) as a Stan program: the same model, parameterisation and priors as the
// PyMC graph of src/bayes_sauce/model/{build,families,effects}.py for structure = "families", likelihood =
// "marginal", developers = "pooled_groups", developer_dist = "normal", mundlak = true, family_dist = "skew_normal",
// finetunes = "mixture", failures = "mixture", accuracy_noise = true, closed_models = "same", protocol_offset = true,
// developer_time = "none", time = "cohort".
// Parameters carry the PyMC free variables' names, shapes and element order, so that the same deterministics
// (benchmarks/stan/stan_data.py) and the same gate can be computed from either sampler's draws. Each group of partially
// pooled effects (effects.pooled) takes the fit's centring weights as data: raw ~ family(w loc, scale^w), effect =
// loc + scale^(1 - w) (raw - w loc).
// The data (index arrays 1-based) are built from the model's Design by benchmarks/stan/stan_data.py::stan_data.
functions {
  // Elementwise log Phi(z), z clipped at +-35 as in families._log_normal_cdf (std_normal_lcdf sums its argument).
  vector log_Phi(vector z) {
    return log(0.5 * erfc(-fmin(fmax(z, -35), 35) / sqrt2()));
  }
  // scale^w elementwise (w the centring weights), for a scale per effect or one for all.
  vector power(vector scale, vector w) {
    return exp(w .* log(scale));
  }
  vector power_of(real scale, vector w) {
    return exp(w * log(scale));
  }
  // The normalised-accuracy variance of binomial question sampling plus evaluation noise at the accuracy a logit
  // predicts (families.noise).
  vector normalised_var(vector logit_, real floor_, real n_questions, real accuracy_noise) {
    vector[rows(logit_)] p = floor_ + (1 - floor_) * inv_logit(logit_);
    return p .* (1 - p) / n_questions / square(1 - floor_) + square(accuracy_noise / (1 - floor_));
  }
  // A logit-normal component's log density, censored at the edges (families._logit_normal_logp).
  vector censored_logit_normal(vector y, vector mean_, vector var_, real low, array[] int at_low,
                                    array[] int at_high) {
    vector[rows(y)] sd_ = sqrt(var_);
    vector[rows(y)] lp = -0.5 * (log(2 * pi()) + log(var_) + square(y - mean_) ./ var_);
    lp[at_low] = log_Phi((low - mean_[at_low]) ./ sd_[at_low]);
    lp[at_high] = log_Phi((low + mean_[at_high]) ./ sd_[at_high]);
    return lp;
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
  // Developers: pool, Mundlak covariate, centring weights, and (a developer that based one family) its combined level.
  array[D] int<lower=1, upper=P> pool_of_developer;
  vector[D] mean_log_compute;
  vector<lower=0, upper=1>[D] w_developer;
  vector<lower=0, upper=1>[D] single;           // 1: the developer based one family only
  array[D] int<lower=1, upper=F> family_of;     // a single developer's family (any family for the others)
  // Families: base developer, compute, period; the ones with a level of their own (the others are "alone").
  array[F] int<lower=1, upper=D> base_of_family;
  vector[F] family_x;
  array[F] int<lower=1, upper=T> family_period;
  int<lower=0, upper=F> F_shared;
  array[F_shared] int<lower=1, upper=F> shared;
  vector<lower=0, upper=1>[F_shared] w_family;
  // Fine-tuners with a sampled effect (two fine-tunes or more).
  int<lower=0, upper=K> K_sampled;
  array[K_sampled] int<lower=1, upper=K> tuner_sampled;
  vector<lower=0, upper=1>[K_sampled] w_tuner;
  // Models: family, compute apart from the family's, fine-tuner (K + 1: a family's level-setter, no effect),
  // self-reported (the protocol offset applies).
  array[N] int<lower=1, upper=F> family_idx;
  vector[N] dx;
  array[N] int<lower=1, upper=K + 1> tuner_of_model;
  vector<lower=0, upper=1>[N] is_closed;
  // Observations: the logit of the normalised score (kept half a question inside (0, 1)).
  vector[N] y;
  real<lower=0, upper=1> floor_;                // the chance floor
  real<lower=1> n_questions;
  real<lower=0, upper=0.5> edge;                // half a question on the normalised scale: censored there
  // Mixture: compared = a fine-tune in a family with other members.
  int<lower=0, upper=N> N_cmp;
  array[N_cmp] int<lower=1, upper=N> cmp;
  array[N - N_cmp] int<lower=1, upper=N> solo;
  // Censored observations (a score at or below chance, or perfect), as positions among all models and among the
  // compared ones.
  int<lower=0, upper=N> N_low;
  array[N_low] int<lower=1, upper=N> at_low;
  int<lower=0, upper=N> N_high;
  array[N_high] int<lower=1, upper=N> at_high;
  int<lower=0, upper=N_cmp> N_cmp_low;
  array[N_cmp_low] int<lower=1, upper=N_cmp> cmp_at_low;
  int<lower=0, upper=N_cmp> N_cmp_high;
  array[N_cmp_high] int<lower=1, upper=N_cmp> cmp_at_high;
  real failure_logit_mean;
  real<lower=0> failure_logit_sd;
}
transformed data {
  real sqrt_2_over_pi = sqrt(2 / pi());
  real low = logit(edge);                       // the lower edge on the logit scale (the upper one is -low)
  vector[N] u = inv_logit(y);
  vector[N] log_jacobian = log(u) + log1m(u);   // of y = logit(u): the core component is a density of u
  // The failure component is fixed: Normal(failure_logit_mean, sqrt(failure_logit_sd^2 + s^2)), s the binomial
  // sampling SD of the logit at its mean (families.component_noise), censored at the edges.
  vector[N_cmp] failure_lp;
  {
    real p = floor_ + (1 - floor_) * inv_logit(failure_logit_mean);
    real u_f = inv_logit(failure_logit_mean);
    real var_f = square(failure_logit_sd) + p * (1 - p) / n_questions / square((1 - floor_) * u_f * (1 - u_f));
    failure_lp = censored_logit_normal(y[cmp], rep_vector(failure_logit_mean, N_cmp), rep_vector(var_f, N_cmp),
                                            low, cmp_at_low, cmp_at_high);
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
  vector[D] developer_level_raw;
  real protocol_offset;
  vector[F_shared] family_level_raw;
  real<lower=0> sigma_finetuner;
  vector[K_sampled] finetuner_effect_raw;
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
  // sigma_family is the families' SD (families.FamilySpread.of_sd): the skew-normal's scale follows from the shape.
  real family_scale = sigma_family / sqrt(1 - square(mean_shift));
  // Developers: a single-family developer's combined level (developer + family) is sampled at its family's
  // compute and period, with spread sqrt(sigma_developer^2 + SD_family^2).
  vector[D] centre = alpha + pool[pool_of_developer] + mundlak * mean_log_compute;
  vector[D] shift = single .* (beta * family_x[family_of] + period[family_period[family_of]]);
  vector[D] spread = sigma_developer + single * (sqrt(square(sigma_developer) + square(sigma_family)) - sigma_developer);
  vector[D] dev_loc = centre + shift;
  vector[D] level = dev_loc + power(spread, 1 - w_developer) .* (developer_level_raw - w_developer .* dev_loc) - shift;
  // Families: a family whose developer based no other has the developer's (combined) level; the others their own.
  vector[F] expected = level[base_of_family] + beta * family_x + period[family_period];
  vector[F_shared] fam_loc = expected[shared] - family_scale * mean_shift;
  vector[F] family_level = expected;
  family_level[shared] = fam_loc + power_of(family_scale, 1 - w_family) .* (family_level_raw - w_family .* fam_loc);
  vector[K + 1] tuner = rep_vector(0, K + 1);
  tuner[tuner_sampled] = power_of(sigma_finetuner, 1 - w_tuner) .* finetuner_effect_raw;
  vector[N] mu = family_level[family_idx] + beta_within * dx + tuner[tuner_of_model] + protocol_offset * is_closed;

  // Priors (models/hierarchical.toml).
  alpha ~ normal(0, 1.5);
  beta ~ normal(0.5, 0.5);
  period_offset ~ normal(0, 1);
  sigma_developer ~ normal(0, 1);
  mundlak ~ normal(0, 0.5);
  sigma_family ~ normal(0, 1);
  family_skew ~ normal(0, 2);
  pool_offset ~ normal(0, 1);
  protocol_offset ~ normal(0.55, 0.15);
  sigma_finetuner ~ normal(0, 0.5);
  beta_within ~ normal(0, 0.5);
  accuracy_noise ~ normal(0, 0.02);
  damaged_share ~ beta(1, 9);
  damaged_shift ~ gamma(4, 4);
  sigma_damaged ~ gamma(2, 4);
  failure_rate ~ normal(-3, 1.5);

  // Hierarchy, partially centred with the fit's weights.
  developer_level_raw ~ normal(w_developer .* dev_loc, power(spread, w_developer));
  family_level_raw ~ skew_normal(w_family .* fam_loc, power_of(family_scale, w_family), family_skew);
  finetuner_effect_raw ~ normal(0, power_of(sigma_finetuner, w_tuner));

  // Likelihood, every component's noise at the accuracy it predicts. Core: the normalised accuracy ~
  // Normal(invlogit(mu), sd(mu)), as a density of y, censored at the edges.
  vector[N] core_var = normalised_var(mu, floor_, n_questions, accuracy_noise);
  vector[N] core_sd = sqrt(core_var);
  vector[N] centre_u = inv_logit(mu);
  vector[N] core = -0.5 * (log(2 * pi()) + log(core_var) + square(u - centre_u) ./ core_var) + log_jacobian;
  core[at_low] = log_Phi((edge - centre_u[at_low]) ./ core_sd[at_low]);
  core[at_high] = log_Phi((edge - (1 - centre_u[at_high])) ./ core_sd[at_high]);
  target += sum(core[solo]);
  // Compared fine-tunes: (1 - pi) [(1 - w) core + w damaged] + pi failure; the damaged component is the core's form
  // around invlogit(mu - shift), its noise at that accuracy plus sigma_damaged moved to the accuracy scale there.
  {
    vector[N_cmp] m = mu[cmp] - damaged_shift;
    vector[N_cmp] q = inv_logit(m);
    vector[N_cmp] damaged_var = normalised_var(m, floor_, n_questions, accuracy_noise)
                                + square(sigma_damaged * q .* (1 - q));
    vector[N_cmp] damaged = -0.5 * (log(2 * pi()) + log(damaged_var) + square(u[cmp] - q) ./ damaged_var)
                            + log_jacobian[cmp];
    damaged[cmp_at_low] = log_Phi((edge - q[cmp_at_low]) ./ sqrt(damaged_var[cmp_at_low]));
    damaged[cmp_at_high] = log_Phi((edge - (1 - q[cmp_at_high])) ./ sqrt(damaged_var[cmp_at_high]));
    real log_keep = log1m_inv_logit(failure_rate);
    vector[N_cmp] kept = log_sum_exp(log1m(damaged_share) + core[cmp], log(damaged_share) + damaged);
    target += sum(log_sum_exp(log_keep + kept, log_inv_logit(failure_rate) + failure_lp));
  }
}
