from keras_sr.cli import main

raise SystemExit(main())
