-- Trigram indexes for the lists' text filter (q, issue #13): GIN indexes of
-- pg_trgm over name_fold and description_fold, so that
-- "name_fold LIKE '%x%' OR description_fold LIKE '%x%'" reads the rows whose
-- text holds x's trigrams instead of every row of the project: with three or
-- more characters the cost follows the number of matches, not the project's
-- size (shorter patterns have no trigram to look up and scan as before).
-- The twin of sqlite/migrations/0011_key_search.sql.
--
-- pg_trgm is a contrib extension: it may be missing, or the role may lack
-- the right to create it. Then this migration creates no index, says so in a
-- NOTICE, and still succeeds, so the server starts; the text filter works
-- as before, by scanning (a later migration, or an operator creating the
-- extension and these indexes by hand, can add them). An extension already
-- installed in any schema is used where it is. Otherwise it goes into
-- public when the role may create objects there, else into the current
-- schema: public keeps it apart from any one application schema (several
-- schemas of one database, such as the tests' private ones, share it, and
-- dropping one schema does not take it along). The operator classes are
-- named with their schema, so search_path need not include it.
DO $$
DECLARE
	trgm name;
BEGIN
	SELECT n.nspname INTO trgm FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
	IF trgm IS NULL THEN
		BEGIN
			CREATE EXTENSION pg_trgm SCHEMA public;
		EXCEPTION WHEN OTHERS THEN
			BEGIN
				CREATE EXTENSION pg_trgm;
			EXCEPTION WHEN OTHERS THEN
				RAISE NOTICE 'pg_trgm unavailable (%): no trigram indexes, text filters scan', SQLERRM;
				RETURN;
			END;
		END;
		SELECT n.nspname INTO trgm FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
	END IF;
	EXECUTE format('CREATE INDEX api_keys_live_name_trgm ON api_keys USING gin (name_fold %I.gin_trgm_ops) WHERE revoked_at IS NULL', trgm);
	EXECUTE format('CREATE INDEX api_keys_live_description_trgm ON api_keys USING gin (description_fold %I.gin_trgm_ops) WHERE revoked_at IS NULL', trgm);
	EXECUTE format('CREATE INDEX org_api_keys_live_name_trgm ON org_api_keys USING gin (name_fold %I.gin_trgm_ops) WHERE revoked_at IS NULL', trgm);
	EXECUTE format('CREATE INDEX org_api_keys_live_description_trgm ON org_api_keys USING gin (description_fold %I.gin_trgm_ops) WHERE revoked_at IS NULL', trgm);
	EXECUTE format('CREATE INDEX projects_name_trgm ON projects USING gin (name_fold %I.gin_trgm_ops)', trgm);
	EXECUTE format('CREATE INDEX projects_description_trgm ON projects USING gin (description_fold %I.gin_trgm_ops)', trgm);
END $$;
