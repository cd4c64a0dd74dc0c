from chatops.main import main

raise SystemExit(main())
