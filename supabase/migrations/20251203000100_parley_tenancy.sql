-- Parley: tenancy (DESIGN "Ownership"). In team mode no user reads or changes another's
-- evaluation work or undoes the limits an admin set.
--
-- * A template name belongs to the user who saved its first version (prompt_templates.owner);
--   only they or an admin add a version (checked by core/store/evals.py, which writes as the
--   service role). Dataset names are each user's own: versions are numbered per owner and name.
-- * Reads follow ownership: a user reads their own templates, datasets, runs, results, votes,
--   decisions and share links (admins: all). The signed-in-user-reads-everything policies of
--   20251130000100_parley_evals.sql are replaced. A run is shown to others only through a
--   share link (eval_shares holds the SHA-256 of its token, never the token).
-- * Users write only their own row votes on runs they may open (with check).
-- * api_keys changes only through parley_create_key / parley_revoke_key (security definer):
--   they check admin or ownership, record the caller as created_by, and hold a non-admin's new
--   key to the key policy (parley_key_policy: '*' for everyone, one row per user with their
--   own caps; synced from parley.key_policy, see core/store/key_policy.py). Users can no
--   longer insert or update api_keys rows directly (no un-revoking, no forged created_by).

-- The signed-in user a request runs for; null for a trusted caller (the service role, or the
-- tables' owner connecting directly). A request as authenticated/anon without a user id gets ''.
create or replace function public.parley_request_user() returns text
language sql stable
set search_path = public, pg_temp
as $$
  select case
    when current_setting('role', true) in ('authenticated', 'anon')
      or coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role', '')
         in ('authenticated', 'anon')
    then coalesce(public.parley_current_user_id(), '')
  end
$$;
revoke execute on function public.parley_request_user() from public, anon;
grant execute on function public.parley_request_user() to authenticated, service_role;

-- Templates: the owner of each name.
alter table public.prompt_templates add column if not exists owner text;
update public.prompt_templates t set owner = (
  select o.created_by from public.prompt_templates o where o.name = t.name
  order by o.version limit 1)
where owner is null;
alter table public.prompt_templates alter column owner set not null;
create index if not exists prompt_templates_owner_idx on public.prompt_templates (owner, name);

-- Datasets: each user's own names.
alter table public.datasets drop constraint if exists datasets_name_version_key;
do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'datasets_owner_name_version_key') then
    alter table public.datasets add constraint datasets_owner_name_version_key
      unique (created_by, name, version);
  end if;
end $$;

create table if not exists public.eval_shares (
  token_sha256 text primary key,
  run_id text not null references public.eval_runs (id) on delete cascade,
  created_by text not null,
  created_at timestamptz not null default now()
);
create index if not exists eval_shares_run_idx on public.eval_shares (run_id);
alter table public.eval_shares enable row level security;
revoke all on table public.eval_shares from public, anon, authenticated;
grant select on table public.eval_shares to authenticated;
grant select, insert, update, delete on table public.eval_shares to service_role;
drop policy if exists eval_shares_service on public.eval_shares;
create policy eval_shares_service on public.eval_shares
  for all to service_role using (true) with check (true);

-- Whether the caller owns the run (or is an admin): security definer, so a policy on one table
-- can ask it without depending on the policies of eval_runs.
create or replace function public.parley_may_open_run(p_run_id text) returns boolean
language sql stable security definer
set search_path = public, pg_temp
as $$
  select (select public.parley_is_admin())
      or exists (select 1 from public.eval_runs r
                 where r.id = p_run_id and r.created_by = public.parley_current_user_id())
$$;
revoke execute on function public.parley_may_open_run(text) from public, anon;
grant execute on function public.parley_may_open_run(text) to authenticated, service_role;

do $$
declare t text;
begin
  foreach t in array array['prompt_templates', 'datasets', 'eval_runs', 'eval_results',
                           'eval_votes', 'eval_decisions'] loop
    execute format('drop policy if exists %I on public.%I', t || '_read_signed_in', t);
    execute format('drop policy if exists %I on public.%I', t || '_read_own', t);
  end loop;
end $$;

create policy prompt_templates_read_own on public.prompt_templates for select to authenticated
  using (owner = (select public.parley_current_user_id()) or (select public.parley_is_admin()));
create policy datasets_read_own on public.datasets for select to authenticated
  using (created_by = (select public.parley_current_user_id()) or (select public.parley_is_admin()));
create policy eval_runs_read_own on public.eval_runs for select to authenticated
  using (created_by = (select public.parley_current_user_id()) or (select public.parley_is_admin()));
create policy eval_results_read_own on public.eval_results for select to authenticated
  using (public.parley_may_open_run(run_id));
create policy eval_votes_read_own on public.eval_votes for select to authenticated
  using (user_id = (select public.parley_current_user_id()) or public.parley_may_open_run(run_id));
create policy eval_decisions_read_own on public.eval_decisions for select to authenticated
  using (user_id in ((select public.parley_current_user_id()), '*')
         or decided_by = (select public.parley_current_user_id())
         or (select public.parley_is_admin()));
drop policy if exists eval_shares_read_own on public.eval_shares;
create policy eval_shares_read_own on public.eval_shares for select to authenticated
  using (public.parley_may_open_run(run_id));

drop policy if exists eval_votes_insert_own on public.eval_votes;
create policy eval_votes_insert_own on public.eval_votes for insert to authenticated
  with check (user_id = (select public.parley_current_user_id()) and public.parley_may_open_run(run_id));
drop policy if exists eval_votes_update_own on public.eval_votes;
create policy eval_votes_update_own on public.eval_votes for update to authenticated
  using (user_id = (select public.parley_current_user_id()))
  with check (user_id = (select public.parley_current_user_id()) and public.parley_may_open_run(run_id));

-- The key policy.
create table if not exists public.parley_key_policy (
  user_id text primary key,                        -- '*' = everyone without a row of their own
  monthly_budget numeric check (monthly_budget is null or monthly_budget >= 0),
  models jsonb,
  rate_limit_per_minute integer check (rate_limit_per_minute is null or rate_limit_per_minute > 0),
  expiry_days integer check (expiry_days is null or expiry_days > 0),
  max_keys integer check (max_keys is null or max_keys > 0),
  updated_at timestamptz not null default now()
);
insert into public.parley_key_policy (user_id, monthly_budget, models, rate_limit_per_minute,
                                      expiry_days, max_keys)
values ('*', 10, null, 60, 90, 5) on conflict (user_id) do nothing;
alter table public.parley_key_policy enable row level security;
revoke all on table public.parley_key_policy from public, anon, authenticated;
grant select, insert, update, delete on table public.parley_key_policy to service_role;
drop policy if exists parley_key_policy_service on public.parley_key_policy;
create policy parley_key_policy_service on public.parley_key_policy
  for all to service_role using (true) with check (true);

-- Make parley_key_policy hold exactly p_rows (core.store.key_policy.policy_rows); service role.
create or replace function public.parley_sync_key_policy(p_rows jsonb) returns integer
language plpgsql volatile
set search_path = public, pg_temp
as $$
begin
  delete from public.parley_key_policy;
  insert into public.parley_key_policy (user_id, monthly_budget, models, rate_limit_per_minute,
                                        expiry_days, max_keys)
  select r.user_id, r.monthly_budget, r.models, r.rate_limit_per_minute, r.expiry_days, r.max_keys
  from jsonb_to_recordset(p_rows) as r(user_id text, monthly_budget numeric, models jsonb,
       rate_limit_per_minute integer, expiry_days integer, max_keys integer);
  return (select count(*) from public.parley_key_policy);
end
$$;

-- The caps on a key p_user_id makes (their row, else '*'), with their active_keys; null when
-- they are an admin. A signed-in caller may ask only about themselves.
create or replace function public.parley_key_limits(p_user_id text) returns jsonb
language plpgsql stable security definer
set search_path = public, pg_temp
as $$
declare
  caller text := public.parley_request_user();
  who text := lower(trim(p_user_id));
begin
  if caller is not null and caller is distinct from p_user_id and not public.parley_is_admin() then
    raise exception 'You may read only your own key limits.' using errcode = '42501';
  end if;
  if (caller is not null and caller = p_user_id and public.parley_is_admin())
     or exists (select 1 from public.parley_admins where user_id = who) then
    return null;
  end if;
  return (
    select jsonb_build_object('monthly_budget', p.monthly_budget, 'models', p.models,
                              'rate_limit_per_minute', p.rate_limit_per_minute,
                              'expiry_days', p.expiry_days, 'max_keys', p.max_keys,
                              'active_keys', (select count(*) from public.api_keys k
                                              where k.user_id = p_user_id and k.revoked_at is null
                                                and (k.expires_at is null or k.expires_at > now())))
    from public.parley_key_policy p where p.user_id in (who, '*')
    order by p.user_id = '*' limit 1);
end
$$;

-- Refuse a new key beyond the caps (the sentences of core/store/key_policy.check_new_key).
create or replace function public.parley_check_key_policy(p_limits jsonb, p_models jsonb,
  p_budget numeric, p_rate integer, p_expires timestamptz) returns void
language plpgsql stable
set search_path = public, pg_temp
as $$
declare
  ask constant text := 'ask an admin if you need more';
  cap numeric;
begin
  if p_limits is null then
    return;
  end if;
  if p_limits ->> 'max_keys' is not null
     and (p_limits ->> 'active_keys')::integer >= (p_limits ->> 'max_keys')::integer then
    raise exception 'You may have at most % active keys; revoke one before making another.',
      p_limits ->> 'max_keys' using errcode = '42501';
  end if;
  cap := (p_limits ->> 'monthly_budget')::numeric;
  if cap is not null and (p_budget is null or p_budget > cap) then
    raise exception 'A key you make needs a monthly budget of at most $%; %.',
      to_char(cap, 'FM999,999,990.00'), ask using errcode = '42501';
  end if;
  if p_limits ->> 'rate_limit_per_minute' is not null
     and (p_rate is null or p_rate > (p_limits ->> 'rate_limit_per_minute')::integer) then
    raise exception 'A key you make needs a rate limit of at most % calls a minute; %.',
      p_limits ->> 'rate_limit_per_minute', ask using errcode = '42501';
  end if;
  if p_limits ->> 'expiry_days' is not null and (p_expires is null or p_expires >
     now() + make_interval(days => (p_limits ->> 'expiry_days')::integer + 1)) then
    raise exception 'A key you make must expire within % days; %.',
      p_limits ->> 'expiry_days', ask using errcode = '42501';
  end if;
  if jsonb_typeof(p_limits -> 'models') = 'array'
     and (p_models is null or jsonb_typeof(p_models) <> 'array' or not (p_models <@ (p_limits -> 'models'))) then
    raise exception 'A key you make may use only %; choose among them, or %.',
      (select string_agg(m, ', ') from jsonb_array_elements_text(p_limits -> 'models') m), ask
      using errcode = '42501';
  end if;
end
$$;

-- Store one key (p_row: the api_keys columns). A signed-in caller makes keys only for
-- themselves unless an admin, is recorded as created_by, and (not an admin) stays within the
-- key policy; a trusted caller (service role) stores the row as given.
create or replace function public.parley_create_key(p_row jsonb) returns void
language plpgsql volatile security definer
set search_path = public, pg_temp
as $$
declare
  caller text := public.parley_request_user();
  r record;
  creator text;
begin
  select * into r from jsonb_to_record(p_row) as x(id text, user_id text, prefix text,
       sha256 text, name text, service_type text, models jsonb, monthly_budget numeric,
       rate_limit_per_minute integer, expires_at timestamptz, created_at timestamptz,
       created_by text);
  creator := coalesce(caller, r.created_by);
  if caller is not null then
    if caller = '' then
      raise exception 'Sign in to make a key.' using errcode = '42501';
    end if;
    if not public.parley_is_admin() then
      if r.user_id is distinct from caller then
        raise exception '% may create keys only for themselves.', caller using errcode = '42501';
      end if;
      perform public.parley_check_key_policy(public.parley_key_limits(caller), r.models,
        r.monthly_budget, r.rate_limit_per_minute, r.expires_at);
    end if;
  end if;
  insert into public.api_keys (id, user_id, prefix, sha256, name, service_type, models,
                               monthly_budget, rate_limit_per_minute, expires_at, created_at,
                               created_by)
  values (r.id, r.user_id, r.prefix, r.sha256, coalesce(r.name, ''), r.service_type, r.models,
          r.monthly_budget, r.rate_limit_per_minute, r.expires_at, coalesce(r.created_at, now()),
          creator);
end
$$;

-- Revoke the key with this prefix if the caller owns it or is an admin (a trusted caller:
-- any); returns its row, or null. A revoked key stays revoked.
create or replace function public.parley_revoke_key(p_prefix text) returns jsonb
language sql volatile security definer
set search_path = public, pg_temp
as $$
  update public.api_keys set revoked_at = coalesce(revoked_at, now())
  where prefix = p_prefix
    and (public.parley_request_user() is null
         or user_id = public.parley_request_user() or public.parley_is_admin())
  returning jsonb_build_object('id', id, 'user_id', user_id, 'prefix', prefix,
                               'revoked_at', revoked_at)
$$;

revoke insert, update, delete on table public.api_keys from authenticated;
drop policy if exists api_keys_insert_own on public.api_keys;
drop policy if exists api_keys_revoke_own on public.api_keys;

revoke execute on function public.parley_create_key(jsonb) from public, anon;
grant execute on function public.parley_create_key(jsonb) to authenticated, service_role;
revoke execute on function public.parley_revoke_key(text) from public, anon;
grant execute on function public.parley_revoke_key(text) to authenticated, service_role;
revoke execute on function public.parley_key_limits(text) from public, anon;
grant execute on function public.parley_key_limits(text) to authenticated, service_role;
revoke execute on function public.parley_check_key_policy(jsonb, jsonb, numeric, integer, timestamptz)
  from public, anon, authenticated;
grant execute on function public.parley_check_key_policy(jsonb, jsonb, numeric, integer, timestamptz)
  to service_role;
revoke execute on function public.parley_sync_key_policy(jsonb) from public, anon, authenticated;
grant execute on function public.parley_sync_key_policy(jsonb) to service_role;
